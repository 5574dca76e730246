# tools/warmd prober rules (included from Makefile.am)
