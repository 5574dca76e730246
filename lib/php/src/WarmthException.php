<?php
declare(strict_types=1);

namespace Warmth;

/**
 * An error of libwarmth.  getCode() is the library's negative WARMTH_E*
 * code (one of the constants below); errName() and strerror() are what
 * warmth_err_name() and warmth_strerror() say of it.
 */
final class WarmthException extends \RuntimeException
{
    // include/warmth.h WARMTH_ERRNO_MAP: append only, never renumbered.
    // lib/php/tests checks these against the C header.
    public const INVAL = -1;
    public const NOMEM = -2;
    public const NOENT = -3;
    public const ACCES = -4;
    public const SYS = -5;
    public const TRUNCATED = -6;
    public const BADMAGIC = -7;
    public const BADVERSION = -8;
    public const BADLAYOUT = -9;
    public const BADOWNER = -10;
    public const INSECURE = -11;
    public const NOTREADY = -12;
    public const NOTFOUND = -13;
    public const BUSY = -14;
    public const NAMETOOLONG = -15;
    public const NODEMAND = -16;
    public const TIMEDOUT = -17;
    public const STALE = -18;
    public const RETIRED = -19;
    public const FULL = -20;
    public const EXIST = -21;

    public function __construct(
        int $code,
        private readonly string $errName,
        private readonly string $strerror,
        string $context = '',
        ?\Throwable $previous = null,
    ) {
        $msg = ($context !== '' ? "$context: " : '') . "$strerror ($errName)";
        parent::__construct($msg, $code, $previous);
    }

    /** The code's name, e.g. "WARMTH_ENOENT" (warmth_err_name). */
    public function errName(): string
    {
        return $this->errName;
    }

    /** The library's words for the code (warmth_strerror). */
    public function strerror(): string
    {
        return $this->strerror;
    }
}
