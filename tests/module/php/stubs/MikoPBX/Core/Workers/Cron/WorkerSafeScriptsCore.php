<?php

/*
 * Test stub of MikoPBX\Core\Workers\Cron\WorkerSafeScriptsCore.
 *
 * Mirrors: mikopbx/Core src/Core/Workers/Cron/WorkerSafeScriptsCore.php
 *          @ e26e6b973bbef6a0d4d1064fe495e62c70f475df
 *
 * Kept: the four worker check-type constants a module's getModuleWorkers() may return.
 * Left out: the supervisor itself (WorkerBase parent, fibers, beanstalk/AMI pings).
 */

namespace MikoPBX\Core\Workers\Cron;

class WorkerSafeScriptsCore
{
    public const CHECK_BY_BEANSTALK = 'checkWorkerBeanstalk';
    public const CHECK_BY_AMI = 'checkWorkerAMI';
    public const CHECK_BY_PID_NOT_ALERT = 'checkPidNotAlert';
    public const CHECK_BY_REDIS = 'checkWorkerRedis';
}
