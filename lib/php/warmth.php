<?php
/*
 * Bootstrap of the PHP binding of libwarmth: require this file once (or
 * use Composer's autoloader with lib/php/composer.json).  It only registers
 * an autoloader for the Warmth\ classes; nothing is loaded until used.
 * See doc/php.md.
 */
declare(strict_types=1);

spl_autoload_register(static function (string $class): void {
    if (strncmp($class, 'Warmth\\', 7) !== 0) {
        return;
    }
    $file = __DIR__ . '/src/' . substr($class, 7) . '.php';
    if (is_file($file)) {
        require $file;
    }
});
