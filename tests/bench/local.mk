# tests/bench rules (included from Makefile.am)
