# tools/warmd rules (included from Makefile.am)
