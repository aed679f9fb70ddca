package geo

// Exported for the tests of package geo_test.
var (
	LibmSin  = libmSin
	LibmCos  = libmCos
	LibmAsin = libmAsin
	DR       = dR
)
