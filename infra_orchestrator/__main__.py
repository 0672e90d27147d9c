from infra_orchestrator.entry import main

if __name__ == "__main__":
    main()
