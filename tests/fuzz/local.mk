# tests/fuzz rules (included from Makefile.am)
#
# The libFuzzer targets are built and run by tests/fuzz/run.sh with clang,
# outside automake (tests/run-all.sh calls it); here only what the tarball
# carries.  Directories in EXTRA_DIST are copied whole: the seed corpora.
EXTRA_DIST += tests/fuzz/run.sh tests/fuzz/fuzz_ctlproto.c \
	tests/fuzz/fuzz_config.c tests/fuzz/corpus-ctlproto \
	tests/fuzz/corpus-config
