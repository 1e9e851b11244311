"""Cases under concurrent load: client threads, node writes, lock waits, and the clock-skew schedule of
writers (C6). Built on bench.measure."""
