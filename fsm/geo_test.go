package fsm_test

import "testing"

// Expected replies are Redis 7.0.15's (TestTablesAgainstRedis). Coordinates
// are doubles (",..." here: bulk strings in RESP2); distances are bulk
// strings in both protocols.

func TestGeoCommands(t *testing.T) { runCases(t, geoCases()) }

func geoCases() []tc {
	sicily := lines("GEOADD g 13.361389 38.115556 Palermo 15.087269 37.502669 Catania")
	more := lines("GEOADD g 13.361389 38.115556 Palermo 15.087269 37.502669 Catania 12.758489 38.788135 edge1 17.241510 38.788135 edge2 13.583333 37.316667 Agrigento")
	return []tc{
		// GEOADD
		{name: "geoadd", steps: []step{{"GEOADD g 13.361389 38.115556 Palermo 15.087269 37.502669 Catania", ":2"},
			{"GEOADD g 13.361389 38.115556 Palermo", ":0"}, {"GEOADD g CH 13.361389 38.115556 Palermo 1 1 Palermo", ":1"},
			{"ZRANGE g 0 -1 WITHSCORES", "[\"Palermo\" ,3377822707026402 \"Catania\" ,3479447370796909]"},
			{"TYPE g", "+zset"}, {"OBJECT ENCODING g", `"listpack"`}}},
		{name: "geoadd nx xx ch", setup: sicily, steps: []step{
			{"GEOADD g NX 1 1 Palermo 2 2 new", ":1"}, {"GEOADD g XX 3 3 Palermo 4 4 other", ":0"},
			{"GEOADD g XX CH 3 3 Palermo 4 4 other", ":0"}, {"GEOADD g CH XX 5 5 Palermo", ":1"},
			{"GEOADD g nx ch 6 6 Palermo 7 7 another", ":1"}, {"ZCARD g", ":4"}, {"ZSCORE g other", "(nil)"},
			{"GEOADD g NX XX 1 1 a", errSyntax}, {"GEOADD g NX CH CH", errSyntax}, {"GEOADD g GT 1 1 a", errSyntax}}},
		{name: "geoadd errors", setup: sicily, steps: []step{
			{"GEOADD g 200 0 x", "-ERR invalid longitude,latitude pair 200.000000,0.000000"},
			{"GEOADD g 0 86 x", "-ERR invalid longitude,latitude pair 0.000000,86.000000"},
			{"GEOADD g -180.5 -85.5 x", "-ERR invalid longitude,latitude pair -180.500000,-85.500000"},
			{"GEOADD g 1 2 ok 200 0 x", "-ERR invalid longitude,latitude pair 200.000000,0.000000"},
			{"GEOADD g a 2 x", errNotFloat}, {"GEOADD g 1 2 x 3", errSyntax}, {"GEOADD g 1 2", errArity("geoadd")},
			{"GEOADD g inf 0 x", "-ERR invalid longitude,latitude pair inf,0.000000"},
			{"GEOADD g 1 nan x", errNotFloat}, {"ZCARD g", ":2"}, {"EXISTS ok", ":0"}}},
		{name: "geoadd limits", steps: []step{{"GEOADD g 180 85.05112878 ne -180 -85.05112878 sw", ":2"},
			{"GEOPOS g ne sw", "[[,180 ,85.0511287799999991] [,-179.99999731779098511 ,-85.05112751263942528]]"},
			{"GEOHASH g ne sw", `["bp05b5048p0" "00bh0hbj200"]`}}},
		{name: "geoadd wrongtype", setup: lines("SET g x"), steps: []step{{"GEOADD g 1 1 a", errWrongType},
			{"GEOADD g 200 1 a", "-ERR invalid longitude,latitude pair 200.000000,1.000000"}}},

		// GEOPOS GEOHASH GEODIST
		{name: "geopos", setup: sicily, steps: []step{
			{"GEOPOS g Palermo nosuch Catania", "[[,13.36138933897018433 ,38.11555639549629859] (nil-array) [,15.08726745843887329 ,37.50266842333162032]]"},
			{"GEOPOS nosuch a b", "[(nil-array) (nil-array)]"}, {"GEOPOS g", "[]"}}},
		{name: "geohash", setup: sicily, steps: []step{{"GEOHASH g Palermo Catania nosuch", `["sqc8b49rny0" "sqdtr74hyu0" (nil)]`},
			{"GEOHASH nosuch a", "[(nil)]"}, {"GEOHASH g", "[]"}}},
		{name: "geodist", setup: sicily, steps: []step{{"GEODIST g Palermo Catania", `"166274.1516"`},
			{"GEODIST g Palermo Catania km", `"166.2742"`}, {"GEODIST g Palermo Catania MI", `"103.3182"`},
			{"GEODIST g Palermo Catania ft", `"545518.8700"`}, {"GEODIST g Palermo Palermo", `"0.0000"`},
			{"GEODIST g Palermo nosuch", "(nil)"}, {"GEODIST nosuch a b", "(nil)"},
			{"GEODIST g Palermo Catania yards", "-ERR unsupported unit provided. please use M, KM, FT, MI"},
			{"GEODIST nosuch a b yards", "-ERR unsupported unit provided. please use M, KM, FT, MI"},
			{"GEODIST g Palermo Catania km x", errSyntax}}},
		{name: "geo reads wrongtype", setup: lines("RPUSH g a"), steps: []step{{"GEOPOS g a", errWrongType},
			{"GEOHASH g a", errWrongType}, {"GEODIST g a b", errWrongType}, {"GEODIST g a b x", "-ERR unsupported unit provided. please use M, KM, FT, MI"},
			{"GEOSEARCH g FROMLONLAT 1 1 BYRADIUS 1 km", errWrongType}, {"GEORADIUS g 1 1 1 km", errWrongType},
			{"GEORADIUSBYMEMBER g a 1 km", errWrongType}, {"GEOSEARCHSTORE d g FROMLONLAT 1 1 BYRADIUS 1 km", errWrongType}}},
		{name: "geo positions of zadd scores", setup: lines("ZADD g 0 zero 4503599627370495 top -1 neg 1e300 huge"), steps: []step{
			{"GEOPOS g zero top", "[[,-179.99999731779098511 ,-85.05112751263942528] [,179.99999731779098511 ,85.05112751263942528]]"},
			{"GEOHASH g zero top", `["00bh0hbj200" "zzpgzgpfxz0"]`}}},

		// GEOSEARCH
		{name: "geosearch by radius", setup: more, steps: []step{
			{"GEOSEARCH g FROMLONLAT 15 37 BYRADIUS 200 km ASC", `["Catania" "Agrigento" "Palermo"]`},
			{"GEOSEARCH g FROMLONLAT 15 37 BYRADIUS 200 km DESC", `["Palermo" "Agrigento" "Catania"]`},
			{"GEOSEARCH g FROMMEMBER Palermo BYRADIUS 100 km ASC WITHDIST", `[["Palermo" "0.0000"] ["Agrigento" "90.9778"] ["edge1" "91.4007"]]`},
			{"GEOSEARCH g FROMLONLAT 15 37 BYRADIUS 200 km ASC COUNT 2 WITHCOORD WITHDIST WITHHASH",
				`[["Catania" "56.4413" :3479447370796909 [,15.08726745843887329 ,37.50266842333162032]] ["Agrigento" "130.4235" :3479030013248308 [,13.5833314061164856 ,37.31666804993816555]]]`},
			{"GEOSEARCH g FROMLONLAT 15 37 BYRADIUS 200 km COUNT 1", `["Catania"]`},
			{"GEOSEARCH g FROMLONLAT 15 37 BYRADIUS 200000 m count 2 desc", `["Palermo" "Agrigento"]`},
			{"GEOSEARCH g FROMLONLAT 0 0 BYRADIUS 1 km", "[]"}}},
		{name: "geosearch by box", setup: more, steps: []step{
			{"GEOSEARCH g FROMLONLAT 15 37 BYBOX 400 400 km ASC WITHDIST", `[["Catania" "56.4413"] ["Agrigento" "130.4235"] ["Palermo" "190.4424"] ["edge2" "279.7403"] ["edge1" "279.7405"]]`},
			{"GEOSEARCH g FROMMEMBER Catania BYBOX 100 100 mi DESC", `["Catania"]`},
			{"GEOSEARCH g FROMLONLAT 15 37 BYBOX 0 0 km", "[]"},
			{"GEOSEARCH g FROMLONLAT 15 37 BYBOX 1000 300 km ASC", `["Catania" "Agrigento" "Palermo"]`}}},
		{name: "geosearch any", setup: more, steps: []step{
			{"GEOSEARCH g FROMLONLAT 15 37 BYRADIUS 500 km COUNT 2 ANY", `["Agrigento" "Palermo"]`},
			{"GEOSEARCH g FROMLONLAT 15 37 BYRADIUS 500 km COUNT 2 ANY ASC", `["Agrigento" "Palermo"]`},
			{"GEOSEARCH g FROMLONLAT 15 37 BYRADIUS 500 km ANY COUNT 10 DESC", `["edge1" "edge2" "Palermo" "Agrigento" "Catania"]`}}},
		{name: "geosearch errors", setup: sicily, steps: []step{
			{"GEOSEARCH g FROMMEMBER Palermo FROMLONLAT 1 2 BYRADIUS 10 km", errSyntax},
			{"GEOSEARCH g FROMLONLAT 1 2 FROMMEMBER Palermo BYRADIUS 10 km", errSyntax},
			{"GEOSEARCH g FROMMEMBER Palermo BYRADIUS 10 km BYBOX 1 1 km", errSyntax},
			{"GEOSEARCH g FROMMEMBER Palermo BYRADIUS 10 km ANY", "-ERR the ANY argument requires COUNT argument"},
			{"GEOSEARCH g FROMMEMBER Palermo BYRADIUS 10 km COUNT 0", "-ERR COUNT must be > 0"},
			{"GEOSEARCH g FROMMEMBER Palermo BYRADIUS 10 km COUNT -1", "-ERR COUNT must be > 0"},
			{"GEOSEARCH g FROMMEMBER Palermo BYRADIUS 10 km COUNT x", errNotInt},
			{"GEOSEARCH g FROMMEMBER Palermo BYRADIUS 10 km COUNT", errSyntax},
			{"GEOSEARCH g FROMMEMBER Palermo BYRADIUS 10 km STORE x", errSyntax},
			{"GEOSEARCH g FROMMEMBER Palermo BYRADIUS 10 km STOREDIST", errSyntax},
			{"GEOSEARCH g FROMMEMBER nosuch BYRADIUS 10 km", "-ERR could not decode requested zset member"},
			{"GEOSEARCH g FROMMEMBER nosuch BYRADIUS -10 km", "-ERR could not decode requested zset member"},
			{"GEOSEARCH g FROMMEMBER Palermo BYRADIUS -10 km", "-ERR radius cannot be negative"},
			{"GEOSEARCH g FROMMEMBER Palermo BYRADIUS x km", "-ERR need numeric radius"},
			{"GEOSEARCH g FROMMEMBER Palermo BYRADIUS 10 kms", "-ERR unsupported unit provided. please use M, KM, FT, MI"},
			{"GEOSEARCH g FROMMEMBER Palermo BYBOX x 1 km", "-ERR need numeric width"},
			{"GEOSEARCH g FROMMEMBER Palermo BYBOX 1 x km", "-ERR need numeric height"},
			{"GEOSEARCH g FROMMEMBER Palermo BYBOX -1 1 km", "-ERR height or width cannot be negative"},
			{"GEOSEARCH g FROMMEMBER Palermo BYBOX 1 1 kmm", "-ERR unsupported unit provided. please use M, KM, FT, MI"},
			{"GEOSEARCH g FROMLONLAT 200 1 BYBOX 1 1 km", "-ERR invalid longitude,latitude pair 200.000000,1.000000"},
			{"GEOSEARCH g FROMLONLAT x 1 BYBOX 1 1 km", errNotFloat},
			{"GEOSEARCH g BYRADIUS 10 km WITHDIST ASC", "-ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for GEOSEARCH"},
			{"geosearch g FROMMEMBER Palermo WITHDIST ASC COUNT 1", "-ERR exactly one of BYRADIUS and BYBOX can be specified for geosearch"},
			{"GEOSEARCH g FROMMEMBER Palermo BYRADIUS 10 km FROMMEMBER Catania", `["Catania"]`},
			{"GEOSEARCH g FROMMEMBER Palermo BYRADIUS 10 km BYRADIUS 1 m FROMMEMBER Palermo", `["Palermo"]`},
			{"GEOSEARCH g FROMMEMBER Palermo BYRADIUS 10", errArity("geosearch")}}},
		{name: "geosearch missing key", steps: []step{
			{"GEOSEARCH g FROMMEMBER nosuch BYRADIUS 10 km", "[]"},
			{"GEOSEARCH g FROMMEMBER nosuch BYRADIUS -10 km", "-ERR radius cannot be negative"},
			{"GEOSEARCH g FROMLONLAT 1 1 BYRADIUS 10 km ANY", "-ERR the ANY argument requires COUNT argument"},
			{"GEOSEARCHSTORE d g FROMLONLAT 1 1 BYRADIUS 10 km", ":0"},
			{"GEOSEARCHSTORE d g FROMLONLAT 1 1 BYRADIUS 10 km WITHDIST", "-ERR GEOSEARCHSTORE is not compatible with WITHDIST, WITHHASH and WITHCOORD options"}}},

		// GEOSEARCHSTORE and STORE
		{name: "geosearchstore", setup: more, steps: []step{
			{"GEOSEARCHSTORE d g FROMLONLAT 15 37 BYRADIUS 200 km ASC", ":3"},
			{"ZRANGE d 0 -1 WITHSCORES", "[\"Agrigento\" ,3479030013248308 \"Palermo\" ,3479099956230698 \"Catania\" ,3479447370796909]"},
			{"GEOSEARCHSTORE d g FROMLONLAT 15 37 BYRADIUS 200 km ASC COUNT 2 STOREDIST", ":2"},
			{"ZRANGE d 0 -1", `["Catania" "Agrigento"]`}, {"ZCOUNT d 56.4412578701582 56.4412578701582", ":1"},
			{"ZCOUNT d 130.42348706714702 130.42348706714702", ":1"},
			{"GEOSEARCHSTORE d g FROMLONLAT 0 0 BYRADIUS 1 km", ":0"}, {"EXISTS d", ":0"},
			{"GEOSEARCHSTORE g g FROMMEMBER Palermo BYRADIUS 1 km", ":1"}, {"ZRANGE g 0 -1", `["Palermo"]`},
			{"GEOSEARCHSTORE d g FROMLONLAT 15 37 BYRADIUS 200 km WITHHASH", "-ERR GEOSEARCHSTORE is not compatible with WITHDIST, WITHHASH and WITHCOORD options"}}},
		{name: "storedist scores (7.2)", setup: more, steps: []step{
			{"GEOSEARCHSTORE d g FROMLONLAT 15 37 BYRADIUS 200 km ASC COUNT 2 STOREDIST", ":2"},
			{"ZRANGE d 0 -1 WITHSCORES", `["Catania" ,56.4412578701582 "Agrigento" ,130.42348706714702]`}}},
		{name: "geosearchstore replaces the destination", setup: append(lines("SET d x EX 100"), more...), steps: []step{
			{"GEOSEARCHSTORE d g FROMMEMBER Palermo BYRADIUS 1 m", ":1"}, {"TTL d", ":-1"}, {"TYPE d", "+zset"},
			{"OBJECT ENCODING d", `"listpack"`}}},

		// GEORADIUS and GEORADIUSBYMEMBER
		{name: "georadius", setup: more, steps: []step{
			{"GEORADIUS g 15 37 200 km ASC", `["Catania" "Agrigento" "Palermo"]`},
			{"GEORADIUS g 15 37 200 km WITHDIST WITHCOORD COUNT 1", `[["Catania" "56.4413" [,15.08726745843887329 ,37.50266842333162032]]]`},
			{"GEORADIUS_RO g 15 37 200 km DESC COUNT 2 WITHHASH", `[["Palermo" :3479099956230698] ["Agrigento" :3479030013248308]]`},
			{"GEORADIUS g 15 37 200 km STORE d", ":3"}, {"ZCARD d", ":3"},
			{"GEORADIUS g 15 37 200 km STOREDIST d COUNT 1", ":1"}, {"ZRANGE d 0 -1", `["Catania"]`}, {"ZCOUNT d 56.4412578701582 56.4412578701582", ":1"},
			{"GEORADIUS g 15 37 200 km STORE d STOREDIST e", ":3"}, {"ZCOUNT e 56.4412578701582 56.4412578701582", ":1"},
			{"GEORADIUS g 15 37 1 km STORE e", ":0"}, {"EXISTS e", ":0"},
			{"GEORADIUS g 15 37 200 km COUNT 1 ANY", `["Agrigento"]`}}},
		{name: "georadius errors", setup: sicily, steps: []step{
			{"GEORADIUS g 15 37 200 km WITHDIST STORE x", "-ERR STORE option in GEORADIUS is not compatible with WITHDIST, WITHHASH and WITHCOORD options"},
			{"GEORADIUS_RO g 15 37 200 km STORE x", errSyntax}, {"GEORADIUS_RO g 15 37 200 km STOREDIST x", errSyntax},
			{"GEORADIUS g 15 37 200 km STORE", errSyntax}, {"GEORADIUS g 15 37 200 km ANY", "-ERR the ANY argument requires COUNT argument"},
			{"GEORADIUS g 15 37 200 km FROMMEMBER Palermo", errSyntax}, {"GEORADIUS g 15 37 200 km BYBOX 1 1 km", errSyntax},
			{"GEORADIUS g 15 37 -1 km", "-ERR radius cannot be negative"}, {"GEORADIUS g 15 37 x km", "-ERR need numeric radius"},
			{"GEORADIUS g 15 100 1 km", "-ERR invalid longitude,latitude pair 15.000000,100.000000"},
			{"GEORADIUS g 15 37 1 parsecs", "-ERR unsupported unit provided. please use M, KM, FT, MI"},
			{"GEORADIUS nosuch 15 100 1 km", "-ERR invalid longitude,latitude pair 15.000000,100.000000"},
			{"GEORADIUS nosuch 15 37 1 km", "[]"}, {"GEORADIUS nosuch 15 37 1 km STORE x", ":0"},
			{"GEORADIUS g 15 37 1 km COUNT 0", "-ERR COUNT must be > 0"}}},
		{name: "georadiusbymember", setup: more, steps: []step{
			{"GEORADIUSBYMEMBER g Palermo 100 km ASC WITHDIST", `[["Palermo" "0.0000"] ["Agrigento" "90.9778"] ["edge1" "91.4007"]]`},
			{"GEORADIUSBYMEMBER_RO g Agrigento 100 km DESC", `["Palermo" "Agrigento"]`},
			{"GEORADIUSBYMEMBER g Agrigento 100 km STORE d", ":2"}, {"ZRANGE d 0 -1", `["Agrigento" "Palermo"]`},
			{"GEORADIUSBYMEMBER g nosuch 100 km", "-ERR could not decode requested zset member"},
			{"GEORADIUSBYMEMBER g Palermo -1 km", "-ERR radius cannot be negative"},
			{"GEORADIUSBYMEMBER nosuch a -1 km", "[]"}, {"GEORADIUSBYMEMBER nosuch a 1 km STORE d", ":0"},
			{"EXISTS d", ":0"}, {"GEORADIUSBYMEMBER nosuch a 1 km FOO", errSyntax},
			{"GEORADIUSBYMEMBER_RO g Palermo 1 km STORE d", errSyntax}}},
	}
}
