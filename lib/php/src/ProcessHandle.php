<?php
declare(strict_types=1);

namespace Warmth;

/**
 * @internal Keeps one warmth_t handle per process and segment name across
 * requests (Table::shared()).
 *
 * PHP frees every object and resets every static property when a request
 * ends, even for preloaded classes: no PHP variable outlives a request in
 * PHP-FPM or mod_php.  The handle itself is C memory, which does; what is
 * lost is its address.  So the address is kept in the process's C
 * environment (libc setenv() through FFI; PHP's putenv() bookkeeping never
 * resets it), under a name derived from the segment name:
 *
 *     WARMTH_PHP_HANDLE_<crc32 of the name>    = "<address> <name>"
 *     WARMTH_PHP_HANDLE_<crc32 of the name>_AT = where libc keeps that string
 *
 * Only the process that wrote an entry, or a fork of it, may use it: exec()'d
 * programs inherit the environment, but as copies on their new stack, at
 * other addresses than the heap string setenv() made here, so _AT does not
 * match there and the entry is ignored (then replaced).  A fork keeps the
 * addresses, and a handle opened before fork() works in the children
 * (warmth.h).  No system call: two getenv() per request.  The name guards
 * against two names with one crc32 (they just reopen).
 *
 * The handle is never closed: it lives as long as the process, like a
 * persistent database connection; the library follows a coordinator that
 * replaces the segment, so it never goes stale.
 */
final class ProcessHandle
{
    public static function get(\FFI $ffi, string $name): ?\FFI\CData
    {
        $var = self::var($name);
        $p = $ffi->getenv($var);
        $at = $ffi->getenv("{$var}_AT");
        if ($p === null || $at === null || \FFI::string($at) !== (string) self::addr($ffi, $p)) {
            return null;
        }
        $f = explode(' ', \FFI::string($p), 2);
        if (count($f) !== 2 || $f[1] !== $name || !ctype_digit($f[0]) || $f[0] === '0') {
            return null;
        }
        return $ffi->cast('warmth_t *', (int) $f[0]);
    }

    /** Records $h as this process's handle of $name; false if it cannot. */
    public static function put(\FFI $ffi, string $name, \FFI\CData $h): bool
    {
        $var = self::var($name);
        if ($ffi->setenv($var, self::addr($ffi, $h) . " $name", 1) !== 0) {
            return false;
        }
        $p = $ffi->getenv($var);
        return $p !== null && $ffi->setenv("{$var}_AT", (string) self::addr($ffi, $p), 1) === 0;
    }

    private static function var(string $name): string
    {
        return sprintf('WARMTH_PHP_HANDLE_%08x', crc32($name));
    }

    private static function addr(\FFI $ffi, \FFI\CData $p): int
    {
        return $ffi->cast('uintptr_t', $p)->cdata;
    }
}
