from decruft.cli import main

main()
