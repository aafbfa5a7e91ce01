from kmb.cli import main

main()
