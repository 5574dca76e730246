<?php
/*
 * The C declarations of libwarmth for FFI::cdef(): warmth.ffi.h without its
 * two #define lines (FFI_SCOPE, FFI_LIB), which only FFI::load() and the
 * ffi.preload ini setting understand.  One copy of the declarations, usable
 * both ways.
 */
declare(strict_types=1);

return preg_replace('/^#define FFI_\w+ .*$/m', '',
                    file_get_contents(__DIR__ . '/warmth.ffi.h'));
