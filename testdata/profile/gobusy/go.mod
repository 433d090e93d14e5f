module gobusy

go 1.22
