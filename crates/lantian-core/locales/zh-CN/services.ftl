## Services: notices about a customer's servers, and the lifecycle's refusals.

notice-service-active-title = 服务器已开通
notice-service-active-body = 您的服务器 { $service } 已开通并正在运行，IP 地址 { $ip }。请登录控制面板查看首次登录密码，并在首次登录后立即修改。
notice-service-suspended-title = 服务器已暂停
notice-service-suspended-body = 您的服务器 { $service } 已暂停（已关机）。支付续费账单后将自动恢复；逾期未续费的服务器将被删除。
notice-service-resumed-title = 服务器已恢复
notice-service-resumed-body = 您的服务器 { $service } 已恢复运行。
notice-service-terminated-title = 服务器已删除
notice-service-terminated-body = 您的服务器 { $service } 已终止，服务器及其磁盘上的数据已删除。订单和账单记录仍按法律要求保留。
notice-service-needs-attention-title = 服务需要处理
notice-service-needs-attention-body = 服务 #{ $service } 无法自动完成操作：{ $why }。请在控制台“开通队列”中查看并重试。
notice-upstreams-differ-title = 上游服务器与服务记录不符
notice-upstreams-differ-body = 每日核对发现：{ $summary }。未删除任何内容，请在控制台核对服务器与服务。

invalid-service-not-running = 只有运行中的服务器才能执行电源操作。
invalid-service-suspended = 服务器已暂停：请先支付续费账单。
invalid-service-busy = 服务器正在执行其他操作，请稍后再试。
invalid-service-not-renewable = 此服务无法续费（已终止或尚未开通）。
invalid-service-action = 未知的操作。
invalid-service-state = 服务当前的状态不允许此操作。
