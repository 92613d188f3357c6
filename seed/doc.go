// Package seed writes a Moodle-shaped database filled with a realistic,
// deterministic population and activity log, for the demo and the tests.
// Built in issue 3.
package seed
