<?php

/*
 * Test stub of MikoPBX\Modules\Config\ConfigClass.
 *
 * Mirrors: mikopbx/Core src/Modules/Config/ConfigClass.php
 *          @ e26e6b973bbef6a0d4d1064fe495e62c70f475df
 *
 * Kept: the public/protected properties and the exact signatures of the hooks ModuleSdpGuard
 * overrides or that MikoPBX calls on it (moduleRestAPICallback, getModuleWorkers,
 * getMethodPriority, getMessages), and the constructor's rule that derives moduleUniqueId from
 * the namespace `Modules\<ModuleUniqueID>\Lib`.
 * Left out: the parent AsteriskConfigClass and the interfaces (they need Phalcon and the DI
 * container), and the ~30 other hooks with empty defaults.
 */

namespace MikoPBX\Modules\Config;

use MikoPBX\PBXCoreREST\Lib\PBXApiResult;

abstract class ConfigClass
{
    protected int $priority = 10000;
    protected array $messages;
    public string $moduleUniqueId;
    protected string $moduleDir;

    public function __construct()
    {
        $reflector = new \ReflectionClass(static::class);
        $partsOfNameSpace = explode('\\', $reflector->getNamespaceName());
        if (count($partsOfNameSpace) === 3 && $partsOfNameSpace[0] === 'Modules') {
            $this->moduleUniqueId = $partsOfNameSpace[1];
            $this->moduleDir = '/storage/usbdisk1/mikopbx/custom_modules/' . $this->moduleUniqueId;
        }
        $this->messages = [];
    }

    public function getMethodPriority(string $methodName = ''): int
    {
        return $this->priority;
    }

    public function getMessages(): array
    {
        return $this->messages;
    }

    public function moduleRestAPICallback(array $request): PBXApiResult
    {
        $res = new PBXApiResult();
        $res->processor = __METHOD__;
        $action = strtoupper($request['action']);
        switch ($action) {
            case 'CHECK':
                $res->success = true;
                break;
            default:
                $res->success = false;
                $res->messages['error'][] = 'API action not found in ' . __METHOD__;
        }
        return $res;
    }

    public function getModuleWorkers(): array
    {
        return [];
    }
}
