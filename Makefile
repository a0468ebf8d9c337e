# Builds and installs libopensharing for C and C++ hosts:
#   make                                  the release libraries (cargo build --release --lib)
#   make install PREFIX=/usr/local        header, shared library (soname libopensharing.so.MAJOR)
#                [DESTDIR=/tmp/stage]     with its links, static library and opensharing.pc
#   make uninstall PREFIX=…               removes what install put there
PREFIX     ?= /usr/local
LIBDIR     ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
DESTDIR    ?=
CARGO      ?= cargo
INSTALL    ?= install

# The package version from Cargo.toml; the soname carries its major number.
VERSION := $(shell sed -n '/^\[package\]/,/^\[/s/^version = "\(.*\)"/\1/p' Cargo.toml)
MAJOR   := $(firstword $(subst ., ,$(VERSION)))
RELEASE := target/release
SONAME  := libopensharing.so.$(MAJOR)
REALNAME := libopensharing.so.$(VERSION)

all: build

build:
	$(CARGO) build --locked --release --lib

install: build
	$(INSTALL) -d $(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(LIBDIR)/pkgconfig
	$(INSTALL) -m 644 include/opensharing.h $(DESTDIR)$(INCLUDEDIR)/opensharing.h
	$(INSTALL) -m 755 $(RELEASE)/libopensharing.so $(DESTDIR)$(LIBDIR)/$(REALNAME)
	ln -sf $(REALNAME) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(LIBDIR)/libopensharing.so
	$(INSTALL) -m 644 $(RELEASE)/libopensharing.a $(DESTDIR)$(LIBDIR)/libopensharing.a
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' \
	    -e 's|@VERSION@|$(VERSION)|' scripts/opensharing.pc.in > $(DESTDIR)$(LIBDIR)/pkgconfig/opensharing.pc

uninstall:
	rm -f $(DESTDIR)$(INCLUDEDIR)/opensharing.h $(DESTDIR)$(LIBDIR)/$(REALNAME) \
	    $(DESTDIR)$(LIBDIR)/$(SONAME) $(DESTDIR)$(LIBDIR)/libopensharing.so \
	    $(DESTDIR)$(LIBDIR)/libopensharing.a $(DESTDIR)$(LIBDIR)/pkgconfig/opensharing.pc

.PHONY: all build install uninstall
