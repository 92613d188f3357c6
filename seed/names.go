package seed

import "strings"

// Read-only word lists for the synthetic population.

var firstNames = [...]string{
	"Camille", "Léa", "Hugo", "Lucas", "Chloé", "Inès", "Manon", "Théo", "Élodie", "Noémie",
	"Amelia", "Oliver", "Isla", "George", "Ava", "Harry", "Freya", "Jack", "Grace", "Noah",
	"Sofía", "Mateo", "Lucía", "Martín", "Valentina", "Diego", "Jimena", "Álvaro", "Paula", "Iker",
	"Emma", "Mia", "Jonas", "Lena", "Felix", "Jörg", "Anja", "Lukas", "Maximilian", "Zoë",
	"Aisha", "Omar", "Yasmin", "Karim", "Fatima", "Ravi", "Priya", "Arjun", "Ananya", "Wei",
	"Mei", "Hiroshi", "Yuki", "Sakura", "Min-jun", "Seo-yeon", "Kwame", "Amara", "Chidi", "Nia",
	"Giulia", "Marco", "Francesca", "Lorenzo", "Siobhán", "Niamh", "Eoin", "Sean", "Ingrid", "Björn",
}

var lastNames = [...]string{
	"Martin", "Bernard", "Dubois", "Lefèvre", "Moreau", "Laurent", "Girard", "Rousseau", "Fontaine", "Mercier",
	"Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Evans", "Thomas", "Roberts", "Walker",
	"García", "Fernández", "González", "Rodríguez", "López", "Martínez", "Sánchez", "Pérez", "Núñez", "Ibáñez",
	"Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Becker", "Hoffmann", "Schäfer", "Koch", "Richter",
	"Khan", "Hassan", "Rahman", "Patel", "Sharma", "Singh", "Nguyen", "Tran", "Chen", "Wang",
	"Tanaka", "Suzuki", "Sato", "Kim", "Park", "Mensah", "Okafor", "Adeyemi", "Rossi", "Russo",
	"Bianchi", "Ferrari", "O'Brien", "O'Connor", "Murphy", "Kelly", "Johansson", "Lindqvist", "Nowak", "Kowalski",
}

var places = [...]struct{ city, country string }{
	{"Paris", "FR"}, {"Lyon", "FR"}, {"Toulouse", "FR"}, {"Lille", "FR"}, {"Montréal", "CA"},
	{"London", "GB"}, {"Manchester", "GB"}, {"Dublin", "IE"}, {"Madrid", "ES"}, {"Sevilla", "ES"},
	{"Berlin", "DE"}, {"München", "DE"}, {"Milano", "IT"}, {"Bruxelles", "BE"}, {"Genève", "CH"},
	{"Lagos", "NG"}, {"Casablanca", "MA"}, {"Dakar", "SN"}, {"Tokyo", "JP"}, {"Seoul", "KR"},
}

var faculties = [...]struct{ name, code string }{
	{"Faculty of Science", "SCI"}, {"Faculty of Arts and Humanities", "ART"}, {"School of Engineering", "ENG"},
	{"Business School", "BUS"}, {"Faculty of Health Sciences", "HEA"}, {"School of Law", "LAW"},
}

var subCategories = [...]struct{ name, code string }{
	{"Year 1", "Y1"}, {"Year 2", "Y2"}, {"Year 3", "Y3"}, {"Master's programmes", "MA"}, {"Continuing education", "CE"},
}

var subjects = [...]struct{ name, code string }{
	{"Introduction to Statistics", "STAT"}, {"Organic Chemistry", "CHEM"}, {"Cell Biology", "BIO"},
	{"Linear Algebra", "MATH"}, {"Classical Mechanics", "PHYS"}, {"Algorithms and Data Structures", "CS"},
	{"Academic Writing", "WRIT"}, {"Modern European History", "HIST"}, {"Introduction to Philosophy", "PHIL"},
	{"French Literature", "LIT"}, {"Spanish for Beginners", "SPAN"}, {"Art History", "ARTH"},
	{"Thermodynamics", "THER"}, {"Circuit Analysis", "ELEC"}, {"Materials Science", "MATS"},
	{"Project Management", "PM"}, {"Principles of Marketing", "MKT"}, {"Financial Accounting", "ACC"},
	{"Microeconomics", "ECON"}, {"Human Anatomy", "ANAT"}, {"Public Health", "PUBH"},
	{"Nursing Practice", "NURS"}, {"Contract Law", "LAW"}, {"Constitutional Law", "CONS"},
	{"Data Science with Python", "DATA"}, {"Machine Learning", "ML"}, {"Environmental Science", "ENV"},
	{"Psychology 101", "PSY"}, {"Sociology of Education", "SOC"}, {"Research Methods", "RES"},
}

var topics = [...]string{
	"Foundations", "Key concepts", "Case study", "Methods", "Applications", "Data and evidence",
	"Ethics", "History of the field", "Current debates", "Problem solving", "Project work", "Review",
	"Modelling", "Critical reading", "Fieldwork", "Theory in practice", "Communication", "Revision",
}

// asciiFold lowercases a name and drops its accents, for usernames and
// e-mail addresses.
func asciiFold(s string) string {
	r := strings.NewReplacer(
		"à", "a", "á", "a", "â", "a", "ä", "a", "ç", "c", "è", "e", "é", "e", "ê", "e", "ë", "e",
		"í", "i", "ï", "i", "ñ", "n", "ó", "o", "ô", "o", "ö", "o", "ú", "u", "ü", "u", "ß", "ss",
		"'", "", " ", "", "-", "", "ø", "o", "å", "a",
	)
	return r.Replace(strings.ToLower(s))
}
