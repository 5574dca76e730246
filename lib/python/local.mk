# lib/python rules (included from Makefile.am)
