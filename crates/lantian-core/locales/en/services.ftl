## Services: notices about a customer's servers, and the lifecycle's refusals.

notice-service-active-title = Your server is ready
notice-service-active-body = Your server { $service } is running at { $ip }. Sign in to see its first-login password, and change it when you first log in.
notice-service-suspended-title = Your server is suspended
notice-service-suspended-body = Your server { $service } is suspended (shut down). It comes back as soon as its renewal invoice is paid; servers left unpaid are deleted.
notice-service-resumed-title = Your server is back
notice-service-resumed-body = Your server { $service } is running again.
notice-service-terminated-title = Your server was deleted
notice-service-terminated-body = Your server { $service } was terminated: the server and the data on its disk are deleted. Orders and invoices are kept as the law requires.
notice-service-needs-attention-title = A service needs attention
notice-service-needs-attention-body = Service #{ $service } could not be completed automatically: { $why }. See the provisioning queue in the console and retry it.
notice-upstreams-differ-title = Upstream servers do not match our services
notice-upstreams-differ-body = The daily check found: { $summary }. Nothing was deleted; compare the servers with the services in the console.

invalid-service-not-running = Only a running server takes power actions.
invalid-service-suspended = The server is suspended: pay its renewal invoice first.
invalid-service-busy = The server is busy with another operation; try again shortly.
invalid-service-not-renewable = This service cannot be renewed (it was terminated or is not ready yet).
invalid-service-action = Unknown action.
invalid-service-state = The service's state does not allow this.
