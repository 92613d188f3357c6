<?php
// Calls one Moodle web-service function the way PHP integrations do: the
// parameters encoded by http_build_query (PHP bracket arrays) and POSTed
// with curl to <wwwroot>/webservice/rest/server.php.
//
//   php php-client.php <wwwroot> <token> <wsfunction> <argsJSON> [json|xml]
//
// Prints the raw response body on stdout (no trailing newline added) and
// exits 0 whatever the body holds, Moodle errors included (they come with
// HTTP 200). Exits 1 on a transport failure or an HTTP status other than
// 200 (message on stderr, body on stdout), 2 on bad usage. The format
// defaults to xml, as Moodle's does.

if (PHP_SAPI !== 'cli') {
    exit(2);
}
if ($argc < 5 || $argc > 6) {
    fwrite(STDERR, "usage: php php-client.php <wwwroot> <token> <wsfunction> <argsJSON> [json|xml]\n");
    exit(2);
}
[, $wwwroot, $token, $wsfunction, $argsjson] = $argv;
$format = $argv[5] ?? 'xml';
if ($format !== 'json' && $format !== 'xml') {
    fwrite(STDERR, "format must be json or xml\n");
    exit(2);
}
$args = json_decode($argsjson, true);
if (!is_array($args) || ($args !== [] && array_is_list($args))) {
    fwrite(STDERR, "argsJSON must be a JSON object of the function's parameters\n");
    exit(2);
}
if (!function_exists('curl_init')) {
    fwrite(STDERR, "the PHP curl extension is missing (apt-get install php-curl)\n");
    exit(2);
}

$params = ['wstoken' => $token, 'wsfunction' => $wsfunction, 'moodlewsrestformat' => $format] + $args;
$body = http_build_query($params, '', '&');

$ch = curl_init($wwwroot . '/webservice/rest/server.php');
curl_setopt_array($ch, [
    CURLOPT_POST => true,
    CURLOPT_POSTFIELDS => $body,
    CURLOPT_HTTPHEADER => ['Content-Type: application/x-www-form-urlencoded'],
    CURLOPT_RETURNTRANSFER => true,
    CURLOPT_CONNECTTIMEOUT => 10,
    CURLOPT_TIMEOUT => 300,
]);
$response = curl_exec($ch);
if ($response === false) {
    fwrite(STDERR, 'curl: ' . curl_error($ch) . "\n");
    exit(1);
}
$status = curl_getinfo($ch, CURLINFO_RESPONSE_CODE);
echo $response;
if ($status !== 200) {
    fwrite(STDERR, "HTTP status $status\n");
    exit(1);
}
exit(0);
