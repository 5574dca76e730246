# lib/php rules (included from Makefile.am)
