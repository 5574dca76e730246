<?php
/*
 * opcache.preload script of the PHP binding (see doc/php.md):
 *
 *   ffi.enable       = preload            ; the default: FFI only for
 *                                         ; preloaded code (and the CLI)
 *   ffi.preload      = <dir>/src/warmth.ffi.h
 *   opcache.preload  = <dir>/preload.php
 *   opcache.preload_user = www-data       ; when the server starts as root
 *
 * The Warmth\ classes are compiled into opcache's shared memory once, at
 * server start; being preloaded, they may use FFI under ffi.enable=preload
 * while no other PHP code can.  ffi.preload declares the library once per
 * process (scope "WARMTH"); without it, the classes declare it with
 * FFI::cdef() once per request instead (slower, still allowed to them).
 */
declare(strict_types=1);

// With the extension loaded, Warmth\Table & co are its classes already;
// compiling these would redeclare them.
if (extension_loaded('warmth')) {
    return;
}
foreach (['WarmthException', 'Native', 'ModelInfo', 'Status', 'ProcessHandle', 'Table'] as $class) {
    opcache_compile_file(__DIR__ . "/src/$class.php");
}
