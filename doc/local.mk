# doc rules (included from Makefile.am)
