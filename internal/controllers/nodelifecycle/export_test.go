package nodelifecycle

// ReadyStatus exposes readyStatus to the integration tests (package
// nodelifecycle_test, external because testcluster imports this package).
var ReadyStatus = readyStatus

// NodeCondition exposes nodeCondition likewise.
var NodeCondition = nodeCondition

// MonitoredConditions exposes monitoredConditions likewise.
var MonitoredConditions = monitoredConditions
