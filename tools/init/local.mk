# tools/init: running warmd as a service (included from Makefile.am).
# `make install` puts the init script and the systemd unit where the
# configure options say, with the paths inside rewritten to this build's
# sbindir and sysconfdir, the example config in $(sysconfdir)/warmth and
# the warmd(8) and libwarmth(3) man pages with the others.
EXTRA_DIST += tools/init/warmd tools/init/warmd.service
dist_man_MANS += tools/warmd/warmd.8

warmthconfdir = $(sysconfdir)/warmth
warmthconf_DATA = tools/warmd.conf.example

init_edit = sed -e 's|^SBINDIR=.*|SBINDIR=$(sbindir)|' \
	-e 's|^SYSCONFDIR=.*|SYSCONFDIR=$(sysconfdir)|' \
	-e 's|/usr/sbin/|$(sbindir)/|g' -e 's|/etc/warmth/|$(sysconfdir)/warmth/|g'

# Built under tools/init/out/ so they keep their installed names.
tools/init/out/warmd: $(srcdir)/tools/init/warmd Makefile
	$(AM_V_GEN)$(MKDIR_P) tools/init/out && \
	$(init_edit) $(srcdir)/tools/init/warmd > $@.tmp && \
	chmod +x $@.tmp && mv $@.tmp $@
tools/init/out/warmd.service: $(srcdir)/tools/init/warmd.service Makefile
	$(AM_V_GEN)$(MKDIR_P) tools/init/out && \
	$(init_edit) $(srcdir)/tools/init/warmd.service > $@.tmp && mv $@.tmp $@
CLEANFILES += tools/init/out/warmd tools/init/out/warmd.service

if HAVE_INITDDIR
nodist_initd_SCRIPTS = tools/init/out/warmd
endif
if HAVE_SYSTEMD_UNITDIR
nodist_systemdsystemunit_DATA = tools/init/out/warmd.service
endif
