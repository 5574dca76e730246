# tests/soak rules (included from Makefile.am)
#
# The soak test is run by hand (doc/tests.md), never by `make check`: an
# hour of warmd under faults, kills and a hostile worker, whose figures are
# a report.  Shipped in the tarball so a release can be soaked.
EXTRA_DIST += tests/soak/soak.py
