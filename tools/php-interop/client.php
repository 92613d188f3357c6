<?php
// MNET client for interoperability tests. One action per run; prints ONE JSON document on stdout.
// Exit 0 on success (an XML-RPC fault answered by the server is success, reported as data),
// exit 1 with {"error": "..."} on a protocol failure, exit 2 on bad usage.
//
//   php client.php identity <wwwroot> <dir>
//   php client.php keyswap  <serverBaseURL> <ourWwwroot> <ourCertFile>
//   php client.php call     <serverBaseURL> <ourWwwroot> <ourCertFile> <ourKeyFile> <serverCertFile> <method> <paramsJSON> [--no-encrypt]
//   php client.php raw      <serverBaseURL> <file>
//   php client.php envelope <ourWwwroot> <ourKeyFile> <serverCertFile> <method> <paramsJSON> [--no-encrypt]
//   php client.php stats    <answer>      (a use_stats_rpc_get_stats answer: its JSON string or its XML message)
//
// Always run with OPENSSL_CONF=<this dir>/openssl-legacy.cnf (RC4 needs OpenSSL's legacy provider).

declare(strict_types=1);
ini_set('display_errors', 'stderr');
require __DIR__ . '/mnetlib.php';
require __DIR__ . '/usestats.php';

final class ProtocolError extends RuntimeException {}
final class UsageError extends RuntimeException {}

function out(array $doc, int $code = 0): never
{
    fwrite(STDOUT, mnet_json($doc) . "\n");
    exit($code);
}

/** POSTs $body; returns [httpStatus, responseBody]. */
function http_post(string $url, string $body): array
{
    $ch = curl_init($url);
    curl_setopt_array($ch, [
        CURLOPT_POST => true,
        CURLOPT_POSTFIELDS => $body,
        CURLOPT_RETURNTRANSFER => true,
        CURLOPT_FOLLOWLOCATION => false,
        CURLOPT_TIMEOUT => 60,
        CURLOPT_USERAGENT => 'Moodle',
        CURLOPT_HTTPHEADER => ['Content-Type: text/xml', 'Expect:'],
        CURLOPT_SSL_VERIFYPEER => false,
        CURLOPT_SSL_VERIFYHOST => 0,
    ]);
    $resp = curl_exec($ch);
    if ($resp === false) {
        $err = curl_errno($ch) . ':' . curl_error($ch);
        curl_close($ch);
        throw new ProtocolError("transport error $err");
    }
    $status = (int)curl_getinfo($ch, CURLINFO_RESPONSE_CODE);
    curl_close($ch);
    return [$status, (string)$resp];
}

function server_url(string $base): string
{
    return rtrim($base, '/') . MNET_XMLRPC_PATH;
}

/** JSON params → PHP values for xmlrpc_encode_request (objects → struct, arrays → array). */
function json_to_php($v)
{
    if ($v instanceof stdClass) {
        $a = [];
        foreach (get_object_vars($v) as $k => $x) {
            $a[$k] = json_to_php($x);
        }
        // a stdClass is encoded as <struct> by the xmlrpc extension (except when empty or when its keys
        // are 0..n-1, which the extension turns into an <array>)
        return (object)$a;
    }
    if (is_array($v)) {
        return array_map('json_to_php', $v);
    }
    return $v;
}

function parse_params(string $json): array
{
    try {
        $p = json_decode($json, false, 512, JSON_THROW_ON_ERROR);
    } catch (JsonException $e) {
        throw new UsageError('paramsJSON is not valid JSON: ' . $e->getMessage());
    }
    if (!is_array($p)) {
        throw new UsageError('paramsJSON must be a JSON array');
    }
    return json_to_php($p);
}

/** Decoded XML-RPC value → something json_encode renders sensibly. */
function php_to_json($v)
{
    if (is_object($v)) {
        // base64 / dateTime values decode to objects {scalar, xmlrpc_type[, timestamp]}
        return array_map('php_to_json', get_object_vars($v));
    }
    if (is_array($v)) {
        return array_map('php_to_json', $v);
    }
    return $v;
}

function fault_doc($decoded, bool $rekeyed, bool $signed, bool $encrypted): array
{
    return [
        'fault' => ['code' => (int)$decoded['faultCode'], 'string' => (string)$decoded['faultString']],
        'rekeyed' => $rekeyed,
        'signed' => $signed,
        'encrypted' => $encrypted,
    ];
}

function is_fault($v): bool
{
    return is_array($v) && xmlrpc_is_fault($v);
}

// ---------------------------------------------------------------------------------------------------

function action_identity(array $a): never
{
    [$wwwroot, $dir] = need($a, 2, 'identity <wwwroot> <dir>');
    $pem = mnet_make_identity($wwwroot, $dir);
    out(['cert' => $pem]);
}

function action_keyswap(array $a): never
{
    [$base, $ours, $certFile] = need($a, 3, 'keyswap <serverBaseURL> <ourWwwroot> <ourCertFile>');
    $cert = mnet_read_file($certFile);
    // Plain XML-RPC (no envelope), default escaping: newlines in the PEM travel as &#10;
    $req = xmlrpc_encode_request('system/keyswap', [$ours, $cert, 'moodle'], ['encoding' => 'utf-8']);
    [$status, $body] = http_post(server_url($base), $req);
    if ($status !== 200) {
        throw new ProtocolError("HTTP status $status");
    }
    [$ok, $v] = mnet_xmlrpc_decode_response(trim($body));
    if (!$ok) {
        throw new ProtocolError('keyswap answer is not XML-RPC');
    }
    if (is_fault($v)) {
        throw new ProtocolError('keyswap answered fault ' . $v['faultCode'] . ': ' . $v['faultString']);
    }
    if (!is_string($v)) {
        throw new ProtocolError('keyswap answer is not a string (got ' . get_debug_type($v) . ')');
    }
    $cn = mnet_cert_cn($v);
    if (@openssl_x509_read($v) === false || $cn === null) {
        mnet_openssl_errors();
        throw new ProtocolError('keyswap answer is not a certificate PEM');
    }
    out(['cert' => $v, 'cn' => $cn]);
}

function action_raw(array $a): never
{
    [$base, $file] = need($a, 2, 'raw <serverBaseURL> <file>');
    [$status, $body] = http_post(server_url($base), mnet_read_file($file));
    out(['status' => $status, 'body' => $body]);
}

function build_request(array $a): array
{
    $noEncrypt = false;
    $a = array_values(array_filter($a, function ($x) use (&$noEncrypt) {
        if ($x === '--no-encrypt') {
            $noEncrypt = true;
            return false;
        }
        return true;
    }));
    return [$a, $noEncrypt];
}

function action_envelope(array $a): never
{
    [$a, $noEncrypt] = build_request($a);
    [$ours, $keyFile, $srvCertFile, $method, $json] =
        need($a, 5, 'envelope <ourWwwroot> <ourKeyFile> <serverCertFile> <method> <paramsJSON> [--no-encrypt]');
    $req = xmlrpc_encode_request($method, parse_params($json), MNET_XMLRPC_OPTS);
    $body = mnet_sign_message($req, $ours, mnet_read_file($keyFile));
    if (!$noEncrypt) {
        $body = mnet_encrypt_message($body, mnet_read_file($srvCertFile), $ours);
    }
    out(['body' => $body]);
}

function action_call(array $a): never
{
    [$a, $noEncrypt] = build_request($a);
    [$base, $ours, $certFile, $keyFile, $srvCertFile, $method, $json] = need($a, 7,
        'call <serverBaseURL> <ourWwwroot> <ourCertFile> <ourKeyFile> <serverCertFile> <method> <paramsJSON> [--no-encrypt]');
    mnet_read_file($certFile);   // must exist (our public half; the server knows it from keyswap)
    $ourKey = mnet_read_file($keyFile);
    $req = xmlrpc_encode_request($method, parse_params($json), MNET_XMLRPC_OPTS);
    $rekeyed = false;

    for ($attempt = 0; ; $attempt++) {
        $srvCert = mnet_read_file($srvCertFile);
        $body = mnet_sign_message($req, $ours, $ourKey);
        if (!$noEncrypt) {
            $body = mnet_encrypt_message($body, $srvCert, $ours);
        }
        $tSend = microtime(true);
        [$status, $resp] = http_post(server_url($base), $body);
        $tRecv = microtime(true);
        if ($status !== 200) {
            throw new ProtocolError("HTTP status $status");
        }
        $resp = trim($resp);
        $f = mnet_xml_fields($resp);
        if ($f === null) {
            throw new ProtocolError('XML Parse error in response');
        }

        if (!$f['CIPHERVALUE']) {
            if ($f['FAULT']) {
                // plain (unsigned, unencrypted) fault, e.g. 7020 / 7023
                [$ok, $v] = mnet_xmlrpc_decode_response($resp);
                if (!$ok || !is_fault($v)) {
                    throw new ProtocolError('unparseable plain fault');
                }
                out(fault_doc($v, $rekeyed, false, false));
            }
            if ($f['SIGNATUREVALUE'] !== null && $f['OBJECT'] !== null) {
                // signed-only answer (the server's reply to an unencrypted request, e.g. 7021): a Moodle
                // client stops at "Payload not encrypted"; we report a verified fault as data.
                $x = mnet_b64decode($f['OBJECT']);
                [$ok, $v] = mnet_xmlrpc_decode_response($x);
                if (!mnet_verify($x, $f['SIGNATUREVALUE'], $srvCert)) {
                    throw new ProtocolError('Invalid signature');
                }
                if ($ok && is_fault($v)) {
                    out(fault_doc($v, $rekeyed, true, false));
                }
            }
            throw new ProtocolError('Payload not encrypted');
        }

        $dec = mnet_open_message($f, $ourKey);
        if ($dec === null) {
            throw new ProtocolError('No key match');
        }
        $pos = strpos(substr($dec, 0, 100), '<signedMessage>');
        if (!$pos) {   // offset 0 counts as "not signed", exactly like a Moodle client
            throw new ProtocolError('Payload not signed');
        }
        $s = mnet_xml_fields($dec);
        if ($s === null || $s['OBJECT'] === null || $s['SIGNATUREVALUE'] === null) {
            throw new ProtocolError('Payload not signed');
        }
        if ($s['TIMESTAMP'] !== null && is_numeric(trim($s['TIMESTAMP']))) {
            $offset = (float)trim($s['TIMESTAMP']) - ($tRecv - $tSend) / 2 - $tSend;
            if ($offset > 0 && $offset > MNET_DRIFT_THRESHOLD) {
                throw new ProtocolError(sprintf('Time gap with %s (%d seconds ahead)', $s['WWWROOT'] ?? '?', (int)$offset));
            }
        }
        $x = mnet_b64decode($s['OBJECT']);
        [$ok, $v] = mnet_xmlrpc_decode_response($x);
        if (!$ok) {
            throw new ProtocolError('signed payload is not an XML-RPC response');
        }
        if (is_fault($v) && (int)$v['faultCode'] === 7025 && $attempt === 0) {
            $newCert = (string)$v['faultString'];
            if (!mnet_pem_is_canonical($newCert) || @openssl_x509_read($newCert) === false) {
                mnet_openssl_errors();
                throw new ProtocolError('7025 faultString is not a canonical certificate PEM');
            }
            mnet_write_file($srvCertFile, $newCert);
            $rekeyed = true;
            continue;
        }
        if (!mnet_verify($x, $s['SIGNATUREVALUE'], $srvCert)) {
            throw new ProtocolError('Invalid signature');
        }
        if (is_fault($v)) {
            out(fault_doc($v, $rekeyed, true, true));
        }
        out(['response' => php_to_json($v), 'rekeyed' => $rekeyed, 'signed' => true, 'encrypted' => true]);
    }
}

function action_stats(array $a): never
{
    [$answer] = need($a, 1, 'stats <answer>');
    $message = $answer;
    if (str_starts_with(ltrim($answer), '{')) {
        $r = json_decode($answer, true);
        if (!is_array($r) || ($r['status'] ?? null) !== 200 || !is_string($r['message'] ?? null)) {
            throw new ProtocolError('not a successful use_stats answer: ' . $answer);
        }
        $message = $r['message'];
    }
    try {
        out(['report' => use_stats_parse_report($message)]);
    } catch (UnexpectedValueException $e) {
        throw new ProtocolError('use_stats report: ' . $e->getMessage());
    }
}

function need(array $a, int $n, string $usage): array
{
    if (count($a) !== $n) {
        throw new UsageError("usage: php client.php $usage");
    }
    return $a;
}

try {
    mnet_require_rc4();
    $args = array_slice($argv, 1);
    $action = array_shift($args) ?? '';
    match ($action) {
        'identity' => action_identity($args),
        'keyswap' => action_keyswap($args),
        'call' => action_call($args),
        'raw' => action_raw($args),
        'envelope' => action_envelope($args),
        'stats' => action_stats($args),
        default => throw new UsageError('usage: php client.php identity|keyswap|call|raw|envelope|stats ...'),
    };
} catch (UsageError $e) {
    out(['error' => $e->getMessage()], 2);
} catch (Throwable $e) {
    out(['error' => $e->getMessage()], 1);
}
