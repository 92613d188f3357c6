<?php
// Reads the XML report of a use_stats_rpc_get_stats answer as a calling site would, strictly, in either
// scope-3 layout: "published" (one MODULES element directly under USE_STATS) or "nested" (a MODULES
// element inside each COURSE). Scopes 1 and 2 have no modules ("layout": "none").

declare(strict_types=1);

require_once __DIR__ . '/xmlread.php';

/**
 * Parses a report. Returns ['empty' => true] for <USE_STATS><EMPTYSET /></USE_STATS>, else
 * ['empty' => false, 'layout' => 'published'|'nested'|'none', 'user' => [username, firstname, lastname,
 * from, elapsed], 'courses' => [[name, shortname, idnumber, elapsed, modules?]], 'modules' => [[name,
 * type, idnumber, elapsed]]] (elapsed in minutes, as ints). Throws UnexpectedValueException otherwise.
 */
function use_stats_parse_report(string $message): array
{
    $root = mnet_xml_tree($message);
    if ($root === null || $root['name'] !== 'USE_STATS') {
        throw new UnexpectedValueException('the message is not a well-formed USE_STATS document');
    }
    $parts = use_stats_children($root, ['EMPTYSET' => 1, 'USER' => 1, 'COURSES' => 1, 'MODULES' => 1]);
    if (isset($parts['EMPTYSET'])) {
        if (count($root['children']) !== 1) {
            throw new UnexpectedValueException('EMPTYSET must be alone in USE_STATS');
        }
        return ['empty' => true];
    }
    if (!isset($parts['USER']) || $root['children'][0]['name'] !== 'USER') {
        throw new UnexpectedValueException('USE_STATS must start with USER');
    }
    $out = ['empty' => false, 'layout' => 'none',
        'user' => use_stats_record($parts['USER'][0], ['USERNAME', 'FIRSTNAME', 'LASTNAME', 'FROM', 'ELAPSED']),
        'courses' => [], 'modules' => []];
    $out['user']['from'] = use_stats_int($out['user']['from'], 'FROM');
    foreach ($parts['COURSES'] ?? [] as $courses) {
        foreach (use_stats_children($courses, ['COURSE' => null])['COURSE'] ?? [] as $c) {
            $course = use_stats_record($c, ['NAME', 'SHORTNAME', 'IDNUMBER', 'ELAPSED'], ['MODULES' => 1]);
            if (isset($course['modules'])) {
                $out['layout'] = 'nested';
            }
            $out['courses'][] = $course;
        }
    }
    if (isset($parts['MODULES'])) {
        if ($out['layout'] === 'nested') {
            throw new UnexpectedValueException('MODULES both under USE_STATS and inside a COURSE');
        }
        $out['layout'] = 'published';
        $out['modules'] = use_stats_modules($parts['MODULES'][0]);
    }
    return $out;
}

/** Groups $node's children by name; throws on text, on a name not in $allowed, or on more than $allowed[name] of one. */
function use_stats_children(array $node, array $allowed): array
{
    if (trim($node['text']) !== '') {
        throw new UnexpectedValueException("{$node['name']} holds text");
    }
    $by = [];
    foreach ($node['children'] as $c) {
        if (!array_key_exists($c['name'], $allowed)) {
            throw new UnexpectedValueException("unexpected {$c['name']} in {$node['name']}");
        }
        $by[$c['name']][] = $c;
        if ($allowed[$c['name']] !== null && count($by[$c['name']]) > $allowed[$c['name']]) {
            throw new UnexpectedValueException("more than one {$c['name']} in {$node['name']}");
        }
    }
    return $by;
}

/** Reads an element made of the text fields $fields (each exactly once) and optionally a MODULES list. */
function use_stats_record(array $node, array $fields, array $lists = []): array
{
    $by = use_stats_children($node, array_fill_keys($fields, 1) + $lists);
    $out = [];
    foreach ($fields as $f) {
        if (!isset($by[$f]) || $by[$f][0]['children']) {
            throw new UnexpectedValueException("{$node['name']} needs one text $f");
        }
        $out[strtolower($f)] = $by[$f][0]['text'];
    }
    $out['elapsed'] = use_stats_int($out['elapsed'], "{$node['name']} ELAPSED");
    if (isset($by['MODULES'])) {
        $out['modules'] = use_stats_modules($by['MODULES'][0]);
    }
    return $out;
}

function use_stats_modules(array $node): array
{
    $out = [];
    foreach (use_stats_children($node, ['MODULE' => null])['MODULE'] ?? [] as $m) {
        $out[] = use_stats_record($m, ['NAME', 'TYPE', 'IDNUMBER', 'ELAPSED']);
    }
    return $out;
}

function use_stats_int(string $s, string $what): int
{
    if (!preg_match('/^\d+$/', $s)) {
        throw new UnexpectedValueException("$what is not a whole number: \"$s\"");
    }
    return (int)$s;
}
