mod debian/php-ext/modules/warmth.so
mod debian/warmth.ini
