"""What is stored about stack graphs: the parse cache shared by every process, the graph a
repository's viewers see, and the gate that reads a commit's graph through that cache."""
