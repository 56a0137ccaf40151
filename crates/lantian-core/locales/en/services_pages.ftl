## Services: the customer's server pages and the console's service pages.

nav-services = My servers
nav-staff-services = Provisioning queue

services-title = My servers
services-buy = Buy a cloud server
services-none = You have no servers yet.
services-name = Name
services-plan = Plan
services-ip = IP address
services-expires = Expires
services-server = Server
services-months = Renewal period (months)
services-created = Created
services-activated = Activated
services-back = Back to my servers
services-refreshing = This page reloads every 10 seconds until the operation is done.

services-state-running = Running
services-state-creating = Creating your server…
services-state-attention = Waiting for our support team
services-state-suspending = Suspending…
services-state-resuming = Resuming…
services-state-suspended-unpaid = Suspended: please pay the renewal invoice
services-state-suspended = Suspended: please contact support
services-state-terminating = Deleting…
services-state-terminated = Deleted

services-one-day = 1 day
services-days = { $n } days
services-lifecycle = The renewal invoice is issued { $invoice } before expiry. A server not renewed is suspended { $suspend } after expiry and deleted, with the data on its disk, { $terminate } after expiry. Days are counted in China Standard Time (UTC+8).

services-power = Power
services-power-start = Start
services-power-reboot = Reboot
services-power-stop = Shut down
services-pending-start = Starting…
services-pending-stop = Shutting down…
services-pending-reboot = Rebooting…
services-pending-busy = The server is busy with an operation…
services-flash-power = Power action requested; it takes effect shortly.

services-renewal = Renewal
services-renewal-due = A renewal invoice is waiting to be paid.
services-renewal-invoice = See the renewal invoice
services-renew = Renew
services-renew-pay = Pay the renewal invoice

services-password = First-login password
services-password-intro = We hold the server's first-login password for you to see once. Save it, then press "I saved it" and we delete it for good; change the password when you first log in.
services-password-show = Show the password
services-password-shown = Save this password now. Once you press "I saved it" we delete it for good and it cannot be shown again.
services-password-forget = I saved it: delete the password
services-flash-password-forgotten = The first-login password is deleted for good.
services-flash-password-gone = The first-login password is no longer held.

staff-services-title = Provisioning queue
staff-services-intro = Services that are not where they should be, wait for staff, or whose last action failed; newest first.
staff-services-open = Service number
staff-services-open-submit = Open
staff-services-none = The queue is empty: every service is where it should be.
staff-services-service = Service
staff-services-back = Back to the provisioning queue
staff-services-state = State → target
staff-services-reason = Why the target
staff-services-upstream = Upstream
staff-services-last-error = Last error
staff-services-created = Created
staff-services-expires = Expires
staff-services-account = Billing account
staff-services-customer = Customer number
staff-services-plan-region = Plan / region number
staff-services-target = Template
staff-services-remote-id = Upstream id
staff-services-node = Node
staff-services-power-request = Power action waiting
staff-services-checkpoint = Create progress
staff-services-op = Operation in flight
staff-services-state-pending = Pending
staff-services-state-provisioning = Provisioning
staff-services-state-active = Active
staff-services-state-suspended = Suspended
staff-services-state-terminated = Terminated
staff-services-state-needs_attention = Needs attention
staff-services-reason-overdue = Overdue
staff-services-reason-paid = Paid
staff-services-reason-staff = Staff order
staff-services-reason-closure = Account closed
staff-services-retry = Retry
staff-services-retry-intro = Runs the service's job again: a create waiting for staff resumes from its checkpoint, a failed suspension or deletion is tried again.
staff-services-retry-submit = Retry
staff-services-order = Suspend or resume
staff-services-order-intro = A staff order holds until staff change it; a paid renewal lifts an order to keep a server running.
staff-services-suspend = Suspend
staff-services-resume = Resume
staff-services-terminate = Terminate
staff-services-terminate-intro = Deletes the server and the data on its disk. This cannot be undone, and no payment check is made.
staff-services-terminate-confirm = I confirm deleting this server and its data
staff-services-terminate-submit = Delete the server
staff-services-done-retry = The job is scheduled again.
staff-services-done-active = Ordered to run again.
staff-services-done-suspended = Ordered to be suspended.
staff-services-done-terminated = Ordered to be deleted.

invalid-service-terminate-confirm = Tick the confirmation box before deleting.

staff-reconcile-title = Upstream check
staff-reconcile-intro = Compares the servers each upstream holds with our services (run now; it only reads, and never deletes or changes anything). The daily check tells the staff who manage services when it finds something.
staff-reconcile-no-upstreams = No upstream is configured.
staff-reconcile-failed = The upstream's list of servers could not be read:
staff-reconcile-clean = All match: every server belongs to a service, and every service's server is there.
staff-reconcile-unknown = Servers no service accounts for
staff-reconcile-missing = Services whose server is missing
staff-reconcile-remote-id = Upstream id
staff-reconcile-name = Name
staff-reconcile-node = Node
