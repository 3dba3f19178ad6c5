<?php

namespace Modules\ModuleSdpGuard\App;

use Phalcon\Di\DiInterface;
use Phalcon\Events\Manager;
use Phalcon\Mvc\Dispatcher;
use Phalcon\Mvc\ModuleDefinitionInterface;

/**
 * Registers the module's controllers with the admin cabinet (the same shape as
 * mikopbx/ModuleTemplate App/Module.php). The page is /admin-cabinet/module-sdp-guard/module-sdp-guard/index.
 */
class Module implements ModuleDefinitionInterface
{
    public function registerAutoloaders(?DiInterface $container = null)
    {
    }

    public function registerServices(DiInterface $container)
    {
        $container->set('dispatcher', function () {
            $dispatcher = new Dispatcher();
            $dispatcher->setEventsManager(new Manager());
            $dispatcher->setDefaultNamespace('Modules\ModuleSdpGuard\App\Controllers\\');
            return $dispatcher;
        });
    }
}
