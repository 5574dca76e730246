# tests rules (included from Makefile.am)
