# tests/upstream rules (included from Makefile.am)
