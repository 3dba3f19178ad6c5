<?php

namespace Modules\ModuleSdpGuard\Models;

use MikoPBX\Modules\Models\ModulesModelsBase;

/**
 * The module's own settings, in its own db/module.db (table m_ModuleSdpGuard); the only
 * table this module ever writes.
 */
class ModuleSdpGuard extends ModulesModelsBase
{
    /**
     * @Primary
     * @Identity
     * @Column(type="integer", nullable=false)
     */
    public $id;

    /**
     * Base address of the sdp-guard daemon, e.g. http://127.0.0.1:8796
     *
     * @Column(type="string", nullable=true)
     */
    public $daemon_url;

    /**
     * '1' = run `sdp-guard daemon` on the PBX as a module worker
     *
     * @Column(type="string", length=1, default="0", nullable=true)
     */
    public $run_daemon_worker;

    public function initialize(): void
    {
        $this->setSource('m_ModuleSdpGuard');
        parent::initialize();
    }
}
