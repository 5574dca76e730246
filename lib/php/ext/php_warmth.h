/* php_warmth.h - the PHP extension of libwarmth (lib/php/ext).
 *
 * Module map:
 *   warmth.c   the module (ini warmth.shm, phpinfo section), the process's
 *              handles and their model caches, the plain functions
 *              (warmth_is_warm, ...), and the classes of lib/php/src
 *              written in C: Warmth\Table, ModelInfo, Status,
 *              WarmthException (the same API as the FFI binding's, which
 *              lib/php/tests/run.php checks against both).
 *   config.m4  phpize's build (--with-warmth=PREFIX).
 *   build.sh   the build from automake, in a copy under the build tree.
 */
#ifndef PHP_WARMTH_H
#define PHP_WARMTH_H

extern zend_module_entry warmth_module_entry;
#define phpext_warmth_ptr &warmth_module_entry

/* The extension's own version: the package's, from the header it was
 * built against (warmth_version_string() says which library is loaded). */
#define PHP_WARMTH_VERSION WARMTH_VERSION_STRING

#endif /* PHP_WARMTH_H */
