module example.com/linkshelf

go 1.19
