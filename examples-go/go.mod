module opensharing.example/gohost

go 1.19
