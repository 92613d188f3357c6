package seed

import (
	"database/sql"
	"fmt"
	"reflect"
	"strconv"
	"strings"
)

// colType is an XMLDB column type (docs/moodle-data.md §2).
type colType uint8

const (
	tSeq    colType = iota // int(10) SEQUENCE="true": the id
	tInt                   // int(N)
	tChar                  // char(N)
	tText                  // text
	tNumber                // number(L,D)
	tFloat                 // float
)

// column is one column of a table, read from a row type's struct tag.
type column struct {
	name    string
	typ     colType
	length  int // N of int(N)/char(N), L of number(L,D)
	dec     int // D of number(L,D)
	notNull bool
	def     string // default value (text form); meaningful when hasDef
	hasDef  bool
	field   int  // index of the struct field
	null    bool // the field is an sql.Null[T]
}

// index is one index of a table (a plain or unique index; Moodle's foreign
// keys are plain indexes, docs/moodle-data.md §1).
type index struct {
	cols   []string
	unique bool
}

// tableDef is a table: its logical name, row type, columns and indexes.
type tableDef struct {
	name    string
	typ     reflect.Type
	cols    []column
	indexes []index
}

func idx(cols ...string) index  { return index{cols: cols} }
func uidx(cols ...string) index { return index{cols: cols, unique: true} }

// tableSpecs lists every table of the package in creation order, with the
// indexes of docs/moodle-data.md §3 (declared indexes first, then one per foreign key, as
// Moodle's generators create them).
func tableSpecs() []struct {
	row     Row
	indexes []index
} {
	return []struct {
		row     Row
		indexes []index
	}{
		{Log{}, []index{
			idx("timecreated"),
			idx("courseid", "anonymous", "timecreated"),
			idx("userid", "contextlevel", "contextinstanceid", "crud", "edulevel", "timecreated"),
			idx("contextid"), idx("userid"), idx("courseid"), idx("realuserid"), idx("relateduserid"),
		}},
		{User{}, []index{
			uidx("mnethostid", "username"),
			idx("deleted"), idx("confirmed"), idx("firstname"), idx("lastname"), idx("city"),
			idx("country"), idx("lastaccess"), idx("email"), idx("auth"), idx("idnumber"),
			idx("firstnamephonetic"), idx("lastnamephonetic"), idx("middlename"), idx("alternatename"),
		}},
		{Course{}, []index{idx("category"), idx("idnumber"), idx("shortname"), idx("sortorder"), idx("originalcourseid")}},
		{CourseCategory{}, []index{idx("parent")}},
		{CourseModule{}, []index{
			idx("visible"), idx("course"), idx("module"), idx("instance"), idx("idnumber", "course"),
			idx("groupingid"), idx("section"),
		}},
		{CourseSection{}, []index{uidx("course", "section"), idx("component", "itemid")}},
		{Module{}, []index{idx("name")}},
		{Context{}, []index{uidx("contextlevel", "instanceid"), idx("instanceid"), idx("path")}},
		{GradeItem{}, []index{
			idx("locked", "locktime"), idx("itemtype", "needsupdate"), idx("gradetype"),
			idx("idnumber", "courseid"), idx("itemtype", "itemmodule", "iteminstance", "courseid"),
			idx("courseid"), idx("categoryid"), idx("scaleid"), idx("outcomeid"),
		}},
		{GradeGrade{}, []index{
			idx("locked", "locktime"), uidx("userid", "itemid"),
			idx("itemid"), idx("userid"), idx("rawscaleid"), idx("usermodified"),
		}},
		{Enrol{}, []index{idx("enrol"), idx("courseid"), idx("roleid")}},
		{UserEnrolment{}, []index{uidx("enrolid", "userid"), idx("enrolid"), idx("userid"), idx("modifierid")}},
		{MnetHost{}, []index{idx("last_log_id"), idx("applicationid")}},
		{Config{}, []index{uidx("name")}},
		{ConfigPlugin{}, []index{uidx("plugin", "name")}},
		{Role{}, []index{uidx("sortorder"), uidx("shortname")}},
		{RoleAssignment{}, []index{
			idx("sortorder"), idx("roleid", "contextid"), idx("userid", "contextid", "roleid"),
			idx("component", "itemid", "userid"), idx("roleid"), idx("contextid"), idx("userid"),
		}},
		{RoleCapability{}, []index{
			uidx("roleid", "contextid", "capability"), idx("roleid"), idx("contextid"), idx("capability"),
		}},
		{Page{}, []index{idx("course")}},
		{Resource{}, []index{idx("course")}},
		{Quiz{}, []index{idx("course")}},
		{Forum{}, []index{idx("course")}},
		{Assign{}, []index{idx("course")}},
		{URL{}, []index{idx("course")}},
		{Scorm{}, []index{idx("course")}},
		{ScormScoe{}, []index{idx("scorm")}},
		{ScormAttempt{}, []index{idx("userid"), idx("scormid")}},
		{ScormElement{}, []index{uidx("element")}},
		{ScormScoesValue{}, []index{idx("scoid"), idx("attemptid"), idx("elementid")}},
		{ScormScoesTrack{}, []index{
			uidx("userid", "scormid", "scoid", "attempt", "element"), idx("userid"), idx("element"),
			idx("scormid"), idx("scoid"),
		}},
		{Label{}, []index{idx("course")}},
		{Feedback{}, []index{idx("course")}},
		{ExternalService{}, []index{uidx("name")}},
		{ExternalServiceFunction{}, []index{idx("externalserviceid")}},
		{ExternalServiceUser{}, []index{idx("externalserviceid"), idx("userid")}},
		{ExternalToken{}, []index{
			idx("token"), idx("sid"), idx("userid"), idx("externalserviceid"), idx("contextid"), idx("creatorid"),
		}},
		// Appended last: the index names of the tables above keep their
		// collision counters.
		{Group{}, []index{idx("idnumber"), idx("courseid")}},
		{Grouping{}, []index{idx("idnumber"), idx("courseid")}},
		{GroupMember{}, []index{uidx("userid", "groupid"), idx("groupid"), idx("userid")}},
		{GroupingGroup{}, []index{idx("groupingid"), idx("groupid")}},
		{Cohort{}, []index{idx("contextid")}},
		{CohortMember{}, []index{uidx("cohortid", "userid"), idx("cohortid"), idx("userid")}},
	}
}

// catalog is the set of tables, by logical name and in creation order.
type catalog struct {
	tables []*tableDef
	byName map[string]*tableDef
}

// buildCatalog reads the row types' struct tags. It fails only on a
// malformed tag, which the package tests rule out.
func buildCatalog() (*catalog, error) {
	specs := tableSpecs()
	c := &catalog{byName: make(map[string]*tableDef, len(specs))}
	for _, s := range specs {
		t, err := defineTable(s.row)
		if err != nil {
			return nil, err
		}
		t.indexes = s.indexes
		for _, ix := range t.indexes {
			for _, name := range ix.cols {
				if t.column(name) == nil {
					return nil, fmt.Errorf("seed: table %s: index on unknown column %s", t.name, name)
				}
			}
		}
		c.tables = append(c.tables, t)
		c.byName[t.name] = t
	}
	return c, nil
}

func (t *tableDef) column(name string) *column {
	for i := range t.cols {
		if t.cols[i].name == name {
			return &t.cols[i]
		}
	}
	return nil
}

var (
	typeInt64     = reflect.TypeFor[int64]()
	typeString    = reflect.TypeFor[string]()
	typeFloat64   = reflect.TypeFor[float64]()
	typeNullInt   = reflect.TypeFor[sql.Null[int64]]()
	typeNullStr   = reflect.TypeFor[sql.Null[string]]()
	typeNullFloat = reflect.TypeFor[sql.Null[float64]]()
)

// defineTable reads the columns of a row type.
func defineTable(row Row) (*tableDef, error) {
	rt := reflect.TypeOf(row)
	t := &tableDef{name: row.TableName(), typ: rt}
	for i := range rt.NumField() {
		f := rt.Field(i)
		tag, ok := f.Tag.Lookup("moodle")
		if !ok {
			continue
		}
		c, err := parseColumn(tag)
		if err != nil {
			return nil, fmt.Errorf("seed: %s.%s: %w", rt.Name(), f.Name, err)
		}
		c.field = i
		var want, wantNull reflect.Type
		switch c.typ {
		case tSeq, tInt:
			want, wantNull = typeInt64, typeNullInt
		case tChar, tText:
			want, wantNull = typeString, typeNullStr
		case tNumber, tFloat:
			want, wantNull = typeFloat64, typeNullFloat
		}
		switch f.Type {
		case want:
			if !c.notNull {
				return nil, fmt.Errorf("seed: %s.%s: nullable column %s needs an sql.Null field", rt.Name(), f.Name, c.name)
			}
		case wantNull:
			if c.notNull {
				return nil, fmt.Errorf("seed: %s.%s: NOT NULL column %s needs a plain field", rt.Name(), f.Name, c.name)
			}
			c.null = true
		default:
			return nil, fmt.Errorf("seed: %s.%s: Go type %s does not fit column %s", rt.Name(), f.Name, f.Type, c.name)
		}
		if len(t.cols) == 0 && c.typ != tSeq {
			return nil, fmt.Errorf("seed: %s: the first column must be the id sequence", rt.Name())
		}
		t.cols = append(t.cols, c)
	}
	return t, nil
}

// parseColumn parses `name,type[,nn][,default=value]`.
func parseColumn(tag string) (column, error) {
	parts := strings.Split(tag, ",")
	if len(parts) < 2 {
		return column{}, fmt.Errorf("tag %q: want name,type", tag)
	}
	c := column{name: parts[0]}
	typ := parts[1]
	// number(L,D) contains a comma: glue it back.
	if strings.HasPrefix(typ, "number(") && len(parts) > 2 && !strings.Contains(typ, ")") {
		typ += "," + parts[2]
		parts = append(parts[:2], parts[3:]...)
	}
	switch {
	case typ == "seq":
		c.typ, c.length, c.notNull = tSeq, 10, true
	case typ == "text":
		c.typ = tText
	case typ == "float":
		c.typ = tFloat
	case strings.HasPrefix(typ, "int(") || strings.HasPrefix(typ, "char("):
		open := strings.IndexByte(typ, '(')
		n, err := strconv.Atoi(strings.TrimSuffix(typ[open+1:], ")"))
		if err != nil || n <= 0 || !strings.HasSuffix(typ, ")") {
			return column{}, fmt.Errorf("tag %q: bad type %q", tag, typ)
		}
		c.length = n
		c.typ = tInt
		if typ[0] == 'c' {
			c.typ = tChar
		}
	case strings.HasPrefix(typ, "number("):
		var l, d int
		if _, err := fmt.Sscanf(typ, "number(%d,%d)", &l, &d); err != nil {
			return column{}, fmt.Errorf("tag %q: bad type %q", tag, typ)
		}
		c.typ, c.length, c.dec = tNumber, l, d
	default:
		return column{}, fmt.Errorf("tag %q: unknown type %q", tag, typ)
	}
	for _, p := range parts[2:] {
		switch {
		case p == "nn":
			c.notNull = true
		case strings.HasPrefix(p, "default="):
			c.def, c.hasDef = strings.TrimPrefix(p, "default="), true
		default:
			return column{}, fmt.Errorf("tag %q: unknown option %q", tag, p)
		}
	}
	if c.hasDef && (c.typ == tInt || c.typ == tNumber || c.typ == tFloat) {
		if _, err := strconv.ParseFloat(c.def, 64); err != nil {
			return column{}, fmt.Errorf("tag %q: default %q is not a number", tag, c.def)
		}
	}
	return c, nil
}

// Defaults returns a row of type R whose fields hold the column defaults of
// the Moodle schema (e.g. User.Auth "manual", Course.Visible 1,
// UserEnrolment.TimeEnd 2147483647); columns without a default keep Go's
// zero value, nullable ones without a default stay NULL. Start hand-built
// fixtures from it.
func Defaults[R Row]() R {
	var r R
	t, err := defineTable(r)
	if err != nil {
		panic(err) // unreachable: the package tests check every row type
	}
	v := reflect.ValueOf(&r).Elem()
	for _, c := range t.cols {
		if !c.hasDef {
			continue
		}
		f := v.Field(c.field)
		if c.null {
			f.Field(1).SetBool(true)
			f = f.Field(0)
		}
		switch c.typ {
		case tInt:
			n, _ := strconv.ParseInt(c.def, 10, 64)
			f.SetInt(n)
		case tNumber, tFloat:
			x, _ := strconv.ParseFloat(c.def, 64)
			f.SetFloat(x)
		case tChar, tText:
			f.SetString(c.def)
		}
	}
	return r
}
