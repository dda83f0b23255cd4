-- a suite with a syntax error on line 4
return {
    name = "broken",
    version = = 1,
}
