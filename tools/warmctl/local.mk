# tools/warmctl rules (included from Makefile.am)
