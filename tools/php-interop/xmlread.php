<?php
// A small non-validating XML reader (this PHP build has no xml/SimpleXML/DOM extension). It checks that
// tags nest properly, handles comments, CDATA, processing instructions and DOCTYPE declarations without
// an internal subset, and decodes the predefined and numeric entities (a bare & is an error). Element local names are compared
// case-insensitively (prefixes dropped). mnet_xml_fields collects what an MNET peer needs from an
// envelope; mnet_xml_tree gives the whole document (e.g. a use_stats report).

declare(strict_types=1);

/**
 * Reads $xml as a stream of events: $open(string $local, array $attrs, bool $selfClose) at each start tag
 * (a self-closed element gets no $close), $close(string $local, string $text) at each end tag, $text
 * being the element's own text (entities decoded, CDATA kept, child elements' text excluded). $local is
 * the upper-case local name, attribute names are upper case. Returns false for malformed XML (tags that
 * do not nest, text or a second element outside the root, no root, an internal DTD subset, …).
 */
function mnet_xml_scan(string $xml, callable $open, callable $close): bool
{
    $len = strlen($xml);
    $i = 0;
    $stack = [];     // [rawName, localUpper, text]
    $rootClosed = false;
    $root = false;
    // null when an & starts no entity reference (XML forbids a bare &)
    $decode = static fn(string $s): ?string => preg_match('/&(?!(?:lt|gt|amp|quot|apos|#[0-9]+|#x[0-9A-Fa-f]+);)/', $s)
        ? null : html_entity_decode($s, ENT_QUOTES | ENT_XML1, 'UTF-8');
    $addText = static function (?string $t) use (&$stack, &$rootClosed): bool {
        if ($t === null) {
            return false;
        }
        if (!$stack) {
            return trim($t) === '';   // only whitespace outside the root element
        }
        $stack[count($stack) - 1][2] .= $t;
        return true;
    };
    while ($i < $len) {
        $lt = strpos($xml, '<', $i);
        if ($lt === false) {
            if (!$addText($decode(substr($xml, $i)))) {
                return false;
            }
            break;
        }
        if ($lt > $i && !$addText($decode(substr($xml, $i, $lt - $i)))) {
            return false;
        }
        if (substr_compare($xml, '<!--', $lt, 4) === 0) {
            $end = strpos($xml, '-->', $lt + 4);
            if ($end === false) {
                return false;
            }
            $i = $end + 3;
        } elseif (substr_compare($xml, '<![CDATA[', $lt, 9) === 0) {
            $end = strpos($xml, ']]>', $lt + 9);
            if ($end === false || !$stack) {
                return false;
            }
            $addText(substr($xml, $lt + 9, $end - $lt - 9));
            $i = $end + 3;
        } elseif (substr_compare($xml, '<?', $lt, 2) === 0) {
            $end = strpos($xml, '?>', $lt + 2);
            if ($end === false) {
                return false;
            }
            $i = $end + 2;
        } elseif (substr_compare($xml, '<!', $lt, 2) === 0) {
            $end = strpos($xml, '>', $lt + 2);
            if ($end === false || strpos(substr($xml, $lt, $end - $lt), '[') !== false || $stack) {
                return false;   // internal DTD subsets are not supported (and never legitimate here)
            }
            $i = $end + 1;
        } elseif (($xml[$lt + 1] ?? '') === '/') {
            $end = strpos($xml, '>', $lt + 2);
            if ($end === false || !$stack) {
                return false;
            }
            $name = trim(substr($xml, $lt + 2, $end - $lt - 2));
            [$raw, $local, $text] = array_pop($stack);
            if ($name !== $raw) {
                return false;
            }
            $close($local, $text);
            if (!$stack) {
                $rootClosed = true;
            }
            $i = $end + 1;
        } else {
            // start tag: scan to the closing '>' outside quoted attribute values
            $j = $lt + 1;
            $quote = null;
            while ($j < $len) {
                $c = $xml[$j];
                if ($quote !== null) {
                    if ($c === $quote) {
                        $quote = null;
                    }
                } elseif ($c === '"' || $c === "'") {
                    $quote = $c;
                } elseif ($c === '>') {
                    break;
                } elseif ($c === '<') {
                    return false;
                }
                $j++;
            }
            if ($j >= $len) {
                return false;
            }
            $body = substr($xml, $lt + 1, $j - $lt - 1);
            $selfClose = str_ends_with($body, '/');
            if ($selfClose) {
                $body = substr($body, 0, -1);
            }
            if (!preg_match('/^([A-Za-z_:][-A-Za-z0-9_.:]*)(.*)$/s', $body, $m)) {
                return false;
            }
            $raw = $m[1];
            $local = strtoupper(($p = strrpos($raw, ':')) === false ? $raw : substr($raw, $p + 1));
            $attrs = [];
            $rest = trim($m[2]);
            if ($rest !== '') {
                if (!preg_match_all('/\G\s*([A-Za-z_:][-A-Za-z0-9_.:]*)\s*=\s*("([^"]*)"|\'([^\']*)\')/s', $rest, $am, PREG_SET_ORDER)) {
                    return false;
                }
                $consumed = 0;
                foreach ($am as $a) {
                    $consumed += strlen($a[0]);
                    $v = $decode($a[3] !== '' ? $a[3] : ($a[4] ?? ''));
                    if ($v === null) {
                        return false;
                    }
                    $attrs[strtoupper($a[1])] = $v;
                }
                if ($consumed !== strlen($rest)) {
                    return false;
                }
            }
            if (!$stack) {
                if ($rootClosed || $root) {
                    return false;   // a second root element
                }
                $root = true;
            }
            $open($local, $attrs, $selfClose);
            if ($selfClose) {
                if (!$stack) {
                    $rootClosed = true;
                }
            } else {
                $stack[] = [$raw, $local, ''];
            }
            $i = $j + 1;
        }
    }
    return !$stack && $root;
}

/**
 * Returns null for malformed XML, else an array with keys
 * ROOT (local name of the root element, upper case), CIPHERVALUE (list, document order),
 * SIGNATUREVALUE, DIGESTVALUE, OBJECT, WWWROOT (concatenation of all wwwroot texts), TIMESTAMP,
 * RETRIEVALMETHOD (URI attribute of the last RetrievalMethod), FAULT (bool: a <fault> element exists).
 */
function mnet_xml_fields(string $xml): ?array
{
    $f = ['ROOT' => null, 'CIPHERVALUE' => [], 'SIGNATUREVALUE' => null, 'DIGESTVALUE' => null,
        'OBJECT' => null, 'WWWROOT' => null, 'TIMESTAMP' => null, 'RETRIEVALMETHOD' => null, 'FAULT' => false];
    $collect = ['CIPHERVALUE' => 1, 'SIGNATUREVALUE' => 1, 'DIGESTVALUE' => 1, 'OBJECT' => 1, 'WWWROOT' => 1, 'TIMESTAMP' => 1];
    $keep = static function (string $local, string $text, bool $selfClose) use (&$f, $collect): void {
        if (!isset($collect[$local])) {
            return;
        }
        if ($local === 'CIPHERVALUE') {
            $f['CIPHERVALUE'][] = $text;
        } elseif ($local === 'WWWROOT') {
            if (!$selfClose) {
                $f['WWWROOT'] = ($f['WWWROOT'] ?? '') . $text;
            }
        } else {
            $f[$local] = $text;
        }
    };
    $open = static function (string $local, array $attrs, bool $selfClose) use (&$f, $keep): void {
        $f['ROOT'] ??= $local;
        if ($local === 'FAULT') {
            $f['FAULT'] = true;
        }
        if ($local === 'RETRIEVALMETHOD' && isset($attrs['URI'])) {
            $f['RETRIEVALMETHOD'] = $attrs['URI'];
        }
        if ($selfClose) {
            $keep($local, '', true);
        }
    };
    $close = static fn(string $local, string $text) => $keep($local, $text, false);
    return mnet_xml_scan($xml, $open, $close) ? $f : null;
}

/**
 * Returns null for malformed XML, else the root element as
 * ['name' => upper-case local name, 'attrs' => [NAME => value], 'text' => own text, 'children' => [elements]].
 */
function mnet_xml_tree(string $xml): ?array
{
    $stack = [['children' => []]];
    $open = static function (string $local, array $attrs, bool $selfClose) use (&$stack): void {
        $node = ['name' => $local, 'attrs' => $attrs, 'text' => '', 'children' => []];
        if ($selfClose) {
            $stack[count($stack) - 1]['children'][] = $node;
        } else {
            $stack[] = $node;
        }
    };
    $close = static function (string $local, string $text) use (&$stack): void {
        $node = array_pop($stack);
        $node['text'] = $text;
        $stack[count($stack) - 1]['children'][] = $node;
    };
    return mnet_xml_scan($xml, $open, $close) ? $stack[0]['children'][0] : null;
}
