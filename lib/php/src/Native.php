<?php
declare(strict_types=1);

namespace Warmth;

/**
 * @internal Loads libwarmth through FFI, once per request (PHP frees every
 * object at the end of a request, FFI instances included).
 *
 * Preferred: the scope "WARMTH" that the ffi.preload ini setting (or
 * FFI::load() in an opcache.preload script) made at server start, so the
 * declarations are parsed and the library opened once per process; see
 * doc/php.md.  Otherwise FFI::cdef() with warmth.h.php and $WARMTH_LIB, or
 * "libwarmth.so.0" found by the dynamic loader.
 */
final class Native
{
    public const SCOPE = 'WARMTH';
    public const DEFAULT_LIB = 'libwarmth.so.0';

    private static ?\FFI $ffi = null;

    public static function ffi(): \FFI
    {
        return self::$ffi ??= self::load();
    }

    /** Where the library came from: "scope" or the path given to dlopen. */
    public static function source(): string
    {
        self::ffi();
        return self::$source;
    }

    private static string $source = '';

    private static function load(): \FFI
    {
        if (!extension_loaded('ffi')) {
            throw self::loadError('the PHP FFI extension is not loaded');
        }
        try {
            $ffi = \FFI::scope(self::SCOPE);
            self::$source = 'scope';
            return $ffi;
        } catch (\FFI\Exception) {
            // Not preloaded: declare it now (CLI, or ffi.enable=true).
        }
        $lib = getenv('WARMTH_LIB');
        $lib = is_string($lib) && $lib !== '' ? $lib : self::DEFAULT_LIB;
        try {
            $ffi = \FFI::cdef(require __DIR__ . '/warmth.h.php', $lib);
        } catch (\FFI\Exception $e) {
            throw self::loadError("cannot load $lib: " . $e->getMessage()
                . ' (set WARMTH_LIB, or see doc/php.md on ffi.enable)', $e);
        }
        self::$source = $lib;
        return $ffi;
    }

    /* The library is not there to name the error: our own words, the
     * library's code for "system call failed". */
    private static function loadError(string $why, ?\Throwable $prev = null): WarmthException
    {
        return new WarmthException(WarmthException::SYS, 'WARMTH_ESYS',
                                   'system call failed (see errno)', $why, $prev);
    }

    /** The exception for library code $rc, with the library's names. */
    public static function error(int $rc, string $context): WarmthException
    {
        $ffi = self::ffi();
        return new WarmthException($rc, $ffi->warmth_err_name($rc),
                                   $ffi->warmth_strerror($rc), $context);
    }
}
