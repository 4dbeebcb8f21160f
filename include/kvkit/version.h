/*
 * kvkit/version.h - the package version, written here and nowhere else.
 *
 * configure.ac reads KVKIT_VERSION from this line (AC_INIT), so
 * PACKAGE_VERSION, kvkit.pc's Version and the release tarball's name follow
 * it; `make` regenerates configure when this file changes.  A test in
 * tests/loader checks that kvkit_version(), this macro and configure agree.
 * Included by <kvkit/kvkit.h>.
 */
#ifndef KVKIT_VERSION_H
#define KVKIT_VERSION_H

#define KVKIT_VERSION "0.1.0"

#endif /* KVKIT_VERSION_H */
