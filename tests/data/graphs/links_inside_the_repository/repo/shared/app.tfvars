upstream = "network"
