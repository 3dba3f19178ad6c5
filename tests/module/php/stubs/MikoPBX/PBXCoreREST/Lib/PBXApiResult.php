<?php

/*
 * Test stub of MikoPBX\PBXCoreREST\Lib\PBXApiResult.
 *
 * Mirrors: mikopbx/Core src/PBXCoreREST/Lib/PBXApiResult.php
 *          @ e26e6b973bbef6a0d4d1064fe495e62c70f475df
 *
 * A copy of the real class's properties, constructor and getResult() (the shape the REST
 * API returns to callers); nothing left out.
 */

namespace MikoPBX\PBXCoreREST\Lib;

class PBXApiResult
{
    public bool $success = false;
    public array $data;
    public array $messages;
    public string $processor;
    public string $function;
    public ?int $httpCode = null;
    public ?array $pagination = null;
    public string $reload = '';

    public function __construct()
    {
        $this->success = false;
        $this->data = [];
        $this->messages = [];
        $this->function = '';
        $this->processor = '';
    }

    public function getResult(): array
    {
        $result = [
            'result' => $this->success,
            'data' => $this->data,
            'messages' => $this->messages,
            'function' => $this->function,
            'processor' => $this->processor,
            'pid' => getmypid(),
        ];
        if ($this->httpCode !== null) {
            $result['httpCode'] = $this->httpCode;
        }
        if ($this->pagination !== null) {
            $result['pagination'] = $this->pagination;
        }
        if (!empty($this->reload)) {
            $result['reload'] = $this->reload;
        }
        return $result;
    }
}
