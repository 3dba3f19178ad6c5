<?php

// Router for `php -S` in DaemonClientTest: plays the sdp-guard daemon.
// /findings serves the file named by SDP_GUARD_SERVE (or 404 when it is unset).

if (parse_url($_SERVER['REQUEST_URI'], PHP_URL_PATH) !== '/findings') {
    http_response_code(404);
    echo 'not found';
    return true;
}
$file = getenv('SDP_GUARD_SERVE');
if ($file === false || $file === '') {
    http_response_code(503);
    echo 'no document yet';
    return true;
}
header('Content-Type: application/json');
readfile($file);
return true;
