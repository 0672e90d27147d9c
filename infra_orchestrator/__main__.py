from infra_orchestrator.hook import dispatch

if __name__ == "__main__":
    dispatch()
