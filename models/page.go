package models

// keyset is the bookkeeping every keyset-paginated list shares. The rows
// were fetched one past limit in the direction of travel (backward: toward
// smaller keys, from a Before cursor), from a cursor or from the start. It
// returns how many rows the page keeps, puts a backward page back in list
// order through swap, and says whether there are pages after and before.
func keyset(fetched, limit int, backward, fromCursor bool, swap func(i, j int)) (n int, hasNext, hasPrev bool) {
	more := fetched > limit
	n = min(fetched, limit)
	if backward {
		for i, j := 0, n-1; i < j; i, j = i+1, j-1 {
			swap(i, j)
		}
		return n, true, more
	}
	return n, more, fromCursor
}
