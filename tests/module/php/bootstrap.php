<?php

declare(strict_types=1);

// PSR-4 autoloading for the tests: the module's own classes from module/ (as MikoPBX maps
// Modules\<ID>\ to the module directory) and the MikoPBX base-class stubs from stubs/.
// Classes that need Phalcon (controller, model, App\Module, the worker) are never loaded here.

define('SDP_GUARD_REPO', dirname(__DIR__, 3));
define('SDP_GUARD_MODULE_DIR', SDP_GUARD_REPO . '/module');
define('SDP_GUARD_FIXTURES', __DIR__ . '/fixtures');
putenv('SDP_GUARD_MODULE_DIR=' . SDP_GUARD_MODULE_DIR);

spl_autoload_register(static function (string $class): void {
    $roots = [
        'Modules\\ModuleSdpGuard\\' => SDP_GUARD_MODULE_DIR . '/',
        'MikoPBX\\' => __DIR__ . '/stubs/MikoPBX/',
        'SdpGuardModuleTests\\' => __DIR__ . '/unit/',
    ];
    foreach ($roots as $prefix => $dir) {
        if (str_starts_with($class, $prefix)) {
            $file = $dir . str_replace('\\', '/', substr($class, strlen($prefix))) . '.php';
            if (is_file($file)) {
                require $file;
            }
            return;
        }
    }
});
